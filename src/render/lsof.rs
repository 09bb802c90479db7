//! lsof's three output forms over one list of processes and their files: the
//! column table (widths computed over every row first), `-F` field records, and
//! `-t` terse pids. Rows arrive display-ready; this module only lays them out.

use crate::escape::escape_lsof;
use std::borrow::Cow;
use std::io::{self, Write};

/// The FD column's name part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdName {
    Cwd,
    Rtd,
    Txt,
    Mem,
    Del,
    NoFd,
    Num(u32),
}

impl FdName {
    pub fn text(&self) -> String {
        match self {
            FdName::Cwd => "cwd".into(),
            FdName::Rtd => "rtd".into(),
            FdName::Txt => "txt".into(),
            FdName::Mem => "mem".into(),
            FdName::Del => "DEL".into(),
            FdName::NoFd => "NOFD".into(),
            // lsof's field holds 4 digits: `*` and the last three above that.
            FdName::Num(n) if *n >= 10000 => format!("*{:03}", n % 1000),
            FdName::Num(n) => n.to_string(),
        }
    }
}

/// SIZE/OFF: a size, an offset, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeOff {
    None,
    Size(u64),
    Offset(u64),
}

/// A device as lsof prints it: in the DEVICE column, and as `-F D` (a number,
/// written in hex) or `-F d` (characters: a socket's inode or kernel address).
/// Numbers, not text: a listing holds one or two per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    None,
    /// `MAJOR,MINOR` in the column.
    Number(u64),
    /// A socket inode in decimal.
    Inode(u64),
    /// A unix socket's kernel address, `0x` and 16 hex digits.
    Address(u64),
}

impl Device {
    fn cell(self) -> ShortText {
        use std::fmt::Write as _;
        let mut t = ShortText::new();
        let _ = match self {
            Device::None => Ok(()),
            Device::Number(d) => write!(
                t,
                "{},{}",
                crate::proc::files::dev_major(d),
                crate::proc::files::dev_minor(d)
            ),
            Device::Inode(i) => write!(t, "{i}"),
            Device::Address(a) => write!(t, "0x{a:016x}"),
        };
        t
    }

    /// The DEVICE column text (empty when unknown).
    pub fn text(self) -> String {
        self.cell().as_str().to_string()
    }
}

/// The NODE column: an inode, or a protocol name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Inode(u64),
    Text(Cow<'static, str>),
}

impl Node {
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Node::Inode(i) => i.to_string().into(),
            Node::Text(t) => Cow::Borrowed(t),
        }
    }

    fn len(&self) -> usize {
        match self {
            Node::Inode(i) => i.checked_ilog10().map_or(1, |d| d as usize + 1),
            Node::Text(t) => t.len(),
        }
    }
}

/// What few rows have: kept apart so the others do not pay for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowExtra {
    /// `-F T` entries: `ST=LISTEN`, `QR=0`, `QS=0`.
    pub tcp_info: Vec<String>,
    /// The namespace label of a socket read from another network namespace's tables:
    /// the table appends ` [netns:LABEL]` after NAME (lsof has no such rows).
    pub netns: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    pub fd: FdName,
    /// `r`, `w`, `u` or space.
    pub access: u8,
    /// Lock character or space.
    pub lock: u8,
    pub file_type: Cow<'static, str>,
    /// The DEVICE column.
    pub device: Device,
    /// `-F D` (a [`Device::Number`]) or `-F d` (the others).
    pub device_field: Device,
    pub size_off: SizeOff,
    pub node: Node,
    /// `-F i`.
    pub inode: Option<u64>,
    /// `-F P`.
    pub protocol: Option<&'static str>,
    /// `-F k`.
    pub nlink: Option<u64>,
    /// `-F G`: open flags.
    pub flags: Option<u32>,
    /// NAME bytes, escaped when printed.
    pub name: Vec<u8>,
    /// What the table appends to NAME: ` (LISTEN)`, or a lone space for UDP.
    pub name_suffix: Cow<'static, str>,
    /// An internet socket's endpoints kept apart, for `--json`.
    pub socket: Option<Box<SocketDetail>>,
    pub extra: Option<Box<RowExtra>>,
}

impl FileRow {
    /// `-F r`: a character or block device's own number (lsof's rdev), which is its
    /// DEVICE column (kept once: the rows of a full listing are all held at once).
    pub fn rdev(&self) -> Option<u64> {
        match (&self.device, self.file_type.as_ref()) {
            (Device::Number(n), "CHR" | "BLK") => Some(*n),
            _ => None,
        }
    }

    pub fn tcp_info(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.tcp_info)
    }

    pub fn netns(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.netns.as_deref())
    }

    /// The rarely used parts, made on first use.
    pub fn extra_mut(&mut self) -> &mut RowExtra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// One side of an internet socket: the numbers and, when resolved, the names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointDetail {
    pub address: std::net::IpAddr,
    pub port: u16,
    pub host: Option<String>,
    pub service: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketDetail {
    pub local: Option<EndpointDetail>,
    pub remote: Option<EndpointDetail>,
    /// TCP state name; `None` for UDP.
    pub state: Option<String>,
    pub recv_queue: u64,
    pub send_queue: u64,
    pub inode: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessRows {
    pub pid: u32,
    /// A thread's id and command (TID and TASKCMD columns, `-F K M`).
    pub task: Option<(u32, Vec<u8>)>,
    pub ppid: u32,
    pub pgid: u32,
    pub uid: u32,
    pub command: Vec<u8>,
    /// USER column text (login, or the uid right-justified in 8 and cut to 8, as lsof).
    pub user: String,
    /// `-F L`: login name when there is one.
    pub login: Option<String>,
    /// The process's network namespace when it is not rlsof's own.
    pub other_netns: Option<ProcessNetns>,
    pub files: Vec<FileRow>,
    /// The process's network namespace inode (read for `--json`).
    pub netns: Option<u64>,
}

/// A network namespace other than rlsof's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessNetns {
    pub inode: u64,
    /// Its /run/netns name (UTF-8, not escaped: JSON's form), when `ip netns` named it.
    pub name: Option<String>,
}

impl ProcessNetns {
    /// The /run/netns name, else `net:[N]` (as rnetstat's namespace column), escaped
    /// for a terminal.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => crate::escape::escape(n.as_bytes()).into_owned(),
            None => format!("net:[{}]", self.inode),
        }
    }
}

/// `-F` letter of the process's network namespace (not an lsof 4.95 letter); written
/// for processes outside rlsof's namespace whatever letters `-F` selects.
pub const NETNS_FIELD: char = 'e';

#[derive(Clone, Copy, Debug)]
pub struct TableOptions {
    /// `+c`: COMMAND width limit; 0 = no limit.
    pub command_limit: usize,
    /// SIZE/OFF title: `SIZE/OFF`, `SIZE` or `OFFSET`.
    pub size_title: &'static str,
    /// `-R`, `-g`, `+L`: the PPID, PGID and NLINK columns.
    pub ppid: bool,
    pub pgid: bool,
    pub nlink: bool,
    /// `+fg` / `+fG` (hex): the FILE-FLAG column.
    pub file_flags: Option<bool>,
    /// `-o N`: an offset up to N decimal digits prints as `0t`, a longer one as `0x`.
    pub offset_digits: u32,
}

impl Default for TableOptions {
    fn default() -> TableOptions {
        TableOptions {
            command_limit: 9,
            size_title: "SIZE/OFF",
            ppid: false,
            pgid: false,
            nlink: false,
            file_flags: None,
            offset_digits: 8,
        }
    }
}

/// lsof's Linux names of open flags (dialects/linux/dstore.c's table, in its order),
/// `,`-separated; bits without a name, or every value with `+fG`, in hex.
pub fn file_flag_text(flags: u32, hex: bool) -> String {
    const NAMES: &[(u32, &str)] = &[
        (0o1, "W"),
        (0o2, "RW"),
        (0o100, "CR"),
        (0o200, "EXCL"),
        (0o400, "NTTY"),
        (0o1000, "TR"),
        (0o2000, "AP"),
        (0o4000, "ND"),
        (0o4010000, "SYN"),
        (0o20000, "ASYN"),
        (0o40000, "DIR"),
        (0o200000, "DTY"),
        (0o400000, "NFLK"),
        (0o1000000, "NATM"),
        (0o10000, "DSYN"),
        (0o4010000, "RSYN"),
        (0o100000, "LG"),
        (0o2000000, "CX"),
        (0o10000000, "PATH"),
        (0o20200000, "TMPF"),
    ];
    let mut out = String::new();
    let mut left = flags;
    if !hex {
        for (bits, name) in NAMES {
            if left & bits != 0 {
                if !out.is_empty() {
                    out.push(',');
                }
                out.push_str(name);
                left &= !bits;
            }
        }
    }
    if left != 0 || hex {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&format!("{left:#x}"));
    }
    // lsof's second table (process open-file flags) is empty on Linux: with +fG it
    // prints its value too.
    if hex {
        out.push_str(";0x0");
    }
    out
}

#[cfg(test)]
fn size_off_text(s: SizeOff) -> String {
    size_off_cell(s, 8).as_str().to_string()
}

/// A table cell short enough for the stack (a number and its prefix): the table
/// writes tens of thousands of rows, which should not cost an allocation per cell.
struct ShortText {
    buf: [u8; 24],
    len: usize,
}

impl ShortText {
    fn new() -> ShortText {
        ShortText {
            buf: [0; 24],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole &strs are ever copied in, so this never fails.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl std::fmt::Write for ShortText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dest = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn size_off_cell(s: SizeOff, digits: u32) -> ShortText {
    use std::fmt::Write as _;
    let mut t = ShortText::new();
    let _ = match s {
        SizeOff::None => Ok(()),
        SizeOff::Size(n) => write!(t, "{n}"),
        // lsof switches to hex when the decimal form has more than `digits` digits.
        SizeOff::Offset(n) if u128::from(n) >= 10u128.pow(digits.min(30)) => {
            write!(t, "{n:#x}")
        }
        SizeOff::Offset(n) => write!(t, "0t{n}"),
    };
    t
}

fn fd_cell(fd: FdName) -> ShortText {
    use std::fmt::Write as _;
    let mut t = ShortText::new();
    let _ = match fd {
        FdName::Num(n) if n >= 10000 => write!(t, "*{:03}", n % 1000),
        FdName::Num(n) => write!(t, "{n}"),
        other => t.write_str(&other.text()),
    };
    t
}

/// First `width` display characters of an escaped command, never splitting an
/// escape sequence, padded with spaces.
fn command_cell(command: &[u8], width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for ch in escaped_units(command) {
        let n = ch.chars().count();
        if used + n > width {
            break;
        }
        out.push_str(&ch);
        used += n;
    }
    out.extend(std::iter::repeat(' ').take(width - used));
    out
}

/// The escaped command split into units (one per source character).
fn escaped_units(command: &[u8]) -> Vec<String> {
    let mut units = Vec::new();
    for chunk in command.utf8_chunks() {
        for c in chunk.valid().chars() {
            let mut buf = [0u8; 4];
            units.push(escape_lsof(c.encode_utf8(&mut buf).as_bytes(), true).into_owned());
        }
        for &b in chunk.invalid() {
            units.push(escape_lsof(&[b], true).into_owned());
        }
    }
    units
}

/// The FD column width a row asks for: lsof keeps a descriptor number as `%4d` and
/// cwd/rtd as ` cwd`/` rtd`, so those rows make the column 6 wide, txt/mem/DEL
/// rows alone 5, and the title alone 2.
fn fd_cell_len(f: &FileRow) -> usize {
    let len = match f.fd {
        FdName::Num(_) | FdName::Cwd | FdName::Rtd | FdName::NoFd => 4,
        FdName::Txt | FdName::Mem | FdName::Del => 3,
    };
    len + 2
}

fn access_char(f: &FileRow) -> char {
    if f.lock != b' ' && f.access == b' ' {
        '-'
    } else {
        f.access as char
    }
}

/// The column table.
pub fn write_table(
    out: &mut impl Write,
    procs: &[ProcessRows],
    opts: &TableOptions,
) -> io::Result<()> {
    let mut cmd_w = 7;
    let mut pid_w = 3;
    let mut user_w = 4;
    let mut fd_w = 2;
    let mut type_w = 4;
    let mut dev_w = 6;
    let mut size_w = opts.size_title.len();
    let mut ppid_w = 4;
    let mut pgid_w = 4;
    let mut nlink_w = 5;
    let mut flag_w = 9;
    let mut node_w = 4;
    let mut tid_w = 3;
    let mut task_w = 7;
    let mut tasks = false;
    let mut any = false;
    for p in procs {
        let mut len: usize = escaped_units(&p.command)
            .iter()
            .map(|u| u.chars().count())
            .sum();
        if opts.command_limit > 0 {
            len = len.min(opts.command_limit);
        }
        if let (Some((tid, tcmd)), false) = (&p.task, p.files.is_empty()) {
            tasks = true;
            tid_w = tid_w.max(tid.to_string().len());
            let mut tlen: usize = escaped_units(tcmd).iter().map(|u| u.chars().count()).sum();
            if opts.command_limit > 0 {
                tlen = tlen.min(opts.command_limit);
            }
            task_w = task_w.max(tlen);
        }
        if !p.files.is_empty() {
            any = true;
            ppid_w = ppid_w.max(p.ppid.to_string().len());
            pgid_w = pgid_w.max(p.pgid.to_string().len());
            cmd_w = cmd_w.max(len);
            pid_w = pid_w.max(p.pid.to_string().len());
            user_w = user_w.max(p.user.len());
        }
        for f in &p.files {
            fd_w = fd_w.max(fd_cell_len(f));
            type_w = type_w.max(f.file_type.len());
            dev_w = dev_w.max(f.device.cell().len);
            size_w = size_w.max(size_off_cell(f.size_off, opts.offset_digits).len);
            if let Some(n) = f.nlink {
                nlink_w = nlink_w.max(n.to_string().len());
            }
            if let Some(hex) = opts.file_flags {
                flag_w = flag_w.max(flag_cell(f, hex).len());
            }
            node_w = node_w.max(f.node.len());
        }
    }
    if !any {
        return Ok(());
    }
    let task_title = if tasks {
        format!(" {:>tid_w$} {:<task_w$}", "TID", "TASKCMD")
    } else {
        String::new()
    };
    let mut ids_title = String::new();
    if opts.ppid {
        ids_title.push_str(&format!(" {:>ppid_w$}", "PPID"));
    }
    if opts.pgid {
        ids_title.push_str(&format!(" {:>pgid_w$}", "PGID"));
    }
    let flag_title = if opts.file_flags.is_some() {
        format!(" {:>flag_w$}", "FILE-FLAG")
    } else {
        String::new()
    };
    let nlink_title = if opts.nlink {
        format!(" {:>nlink_w$}", "NLINK")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{:<cmd_w$} {:>pid_w$}{task_title}{ids_title} {:>user_w$} {:>fdn$}   {:>type_w$}{flag_title} {:>dev_w$} {:>size_w$}{nlink_title} {:>node_w$} NAME",
        "COMMAND",
        "PID",
        "USER",
        "FD",
        "TYPE",
        "DEVICE",
        opts.size_title,
        "NODE",
        fdn = fd_w - 2,
    )?;
    // Each row is laid out in one reused buffer and written whole: core::fmt's
    // padding writes fill characters one at a time, a cost on tens of thousands
    // of rows. Padding counts characters, as `{:>w$}` does.
    let mut line: Vec<u8> = Vec::with_capacity(256);
    for p in procs {
        let cmd = command_cell(&p.command, cmd_w);
        let task_cells = match (&p.task, tasks) {
            (_, false) => String::new(),
            (Some((tid, tcmd)), true) => format!(" {tid:>tid_w$} {}", command_cell(tcmd, task_w)),
            (None, true) => format!(" {:>tid_w$} {:task_w$}", "", ""),
        };
        let mut id_cells = String::new();
        if opts.ppid {
            id_cells.push_str(&format!(" {:>ppid_w$}", p.ppid));
        }
        if opts.pgid {
            id_cells.push_str(&format!(" {:>pgid_w$}", p.pgid));
        }
        // The cells every row of the process starts with.
        let mut head: Vec<u8> = Vec::with_capacity(cmd.len() + 32);
        head.extend_from_slice(cmd.as_bytes());
        head.push(b' ');
        push_dec_right(&mut head, u64::from(p.pid), pid_w);
        head.extend_from_slice(task_cells.as_bytes());
        head.extend_from_slice(id_cells.as_bytes());
        head.push(b' ');
        push_right(&mut head, &p.user, user_w);
        head.push(b' ');
        for f in &p.files {
            line.clear();
            line.extend_from_slice(&head);
            push_right(&mut line, fd_cell(f.fd).as_str(), fd_w - 2);
            let mut marks = [0u8; 8];
            line.extend_from_slice(access_char(f).encode_utf8(&mut marks).as_bytes());
            line.extend_from_slice((f.lock as char).encode_utf8(&mut marks).as_bytes());
            line.push(b' ');
            push_right(&mut line, &f.file_type, type_w);
            if let Some(hex) = opts.file_flags {
                line.push(b' ');
                push_right(&mut line, &flag_cell(f, hex), flag_w);
            }
            line.push(b' ');
            push_right(&mut line, f.device.cell().as_str(), dev_w);
            line.push(b' ');
            push_right(
                &mut line,
                size_off_cell(f.size_off, opts.offset_digits).as_str(),
                size_w,
            );
            match (opts.nlink, f.nlink) {
                (false, _) => {}
                (true, Some(n)) => {
                    line.push(b' ');
                    push_dec_right(&mut line, n, nlink_w);
                }
                (true, None) => {
                    line.push(b' ');
                    push_right(&mut line, "", nlink_w);
                }
            }
            line.push(b' ');
            match &f.node {
                Node::Inode(i) => push_dec_right(&mut line, *i, node_w),
                Node::Text(t) => push_right(&mut line, t, node_w),
            }
            line.push(b' ');
            line.extend_from_slice(escape_lsof(&f.name, false).as_bytes());
            line.extend_from_slice(f.name_suffix.as_bytes());
            if let Some(label) = f.netns() {
                line.extend_from_slice(b" [netns:");
                line.extend_from_slice(label.as_bytes());
                line.push(b']');
            }
            line.push(b'\n');
            out.write_all(&line)?;
        }
    }
    Ok(())
}

/// `text` right-aligned in `width` characters (never cut), as `{:>width$}`.
fn push_right(line: &mut Vec<u8>, text: &str, width: usize) {
    let chars = if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    };
    line.resize(line.len() + width.saturating_sub(chars), b' ');
    line.extend_from_slice(text.as_bytes());
}

/// `n` in decimal, right-aligned in `width`, as `{n:>width$}`.
fn push_dec_right(line: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let text = &digits[at..];
    line.resize(line.len() + width.saturating_sub(text.len()), b' ');
    line.extend_from_slice(text);
}

/// The FILE-FLAG cell: lsof leaves it empty for a file without flags (all but
/// descriptors; O_RDONLY alone) unless `+fG` asks for hex.
fn flag_cell(f: &FileRow, hex: bool) -> String {
    match f.flags {
        Some(fl) if fl != 0 || hex => file_flag_text(fl, hex),
        _ => String::new(),
    }
}

/// `-F` field letters lsof 4.95 writes for a bare `-F` (all but `r`).
pub const ALL_FIELDS: &str = "pKMgRcuLfaltGDdsoikPnT";

/// The field letters to write and the terminator.
#[derive(Clone, Debug)]
pub struct FieldOptions {
    pub letters: String,
    pub nul: bool,
    /// `-o N` (8): longer offsets are written in hex.
    pub offset_digits: u32,
}

impl FieldOptions {
    fn has(&self, c: char) -> bool {
        self.letters.contains(c)
    }
}

/// `-F` records: a process set (`p` first) and one set per file (`f` first when
/// asked for). With NUL terminators each set also ends with a newline.
pub fn write_fields(
    out: &mut impl Write,
    procs: &[ProcessRows],
    opts: &FieldOptions,
) -> io::Result<()> {
    let term: &[u8] = if opts.nul { b"\0" } else { b"\n" };
    let field = |out: &mut dyn Write, id: char, value: &[u8]| -> io::Result<()> {
        write!(out, "{id}")?;
        out.write_all(value)?;
        out.write_all(term)
    };
    for p in procs {
        field(out, 'p', p.pid.to_string().as_bytes())?;
        if let Some((tid, tcmd)) = &p.task {
            if opts.has('K') {
                field(out, 'K', tid.to_string().as_bytes())?;
            }
            if opts.has('M') {
                field(out, 'M', escape_lsof(tcmd, false).as_bytes())?;
            }
        }
        if opts.has('g') {
            field(out, 'g', p.pgid.to_string().as_bytes())?;
        }
        if opts.has('R') {
            field(out, 'R', p.ppid.to_string().as_bytes())?;
        }
        if opts.has('c') {
            field(out, 'c', escape_lsof(&p.command, false).as_bytes())?;
        }
        if opts.has('u') {
            field(out, 'u', p.uid.to_string().as_bytes())?;
        }
        if opts.has('L') {
            if let Some(login) = &p.login {
                field(out, 'L', login.as_bytes())?;
            }
        }
        if let Some(ns) = &p.other_netns {
            field(out, NETNS_FIELD, ns.label().as_bytes())?;
        }
        if opts.nul {
            out.write_all(b"\n")?;
        }
        for f in &p.files {
            let mut wrote = false;
            let mut put = |out: &mut dyn Write, id: char, value: &[u8]| -> io::Result<()> {
                wrote = true;
                field(out, id, value)
            };
            if opts.has('f') {
                put(out, 'f', f.fd.text().as_bytes())?;
            }
            if opts.has('a') {
                put(out, 'a', &[f.access])?;
            }
            if opts.has('l') {
                put(out, 'l', &[f.lock])?;
            }
            if opts.has('t') && !f.file_type.is_empty() {
                put(out, 't', f.file_type.as_bytes())?;
            }
            if opts.has('G') {
                if let Some(flags) = f.flags {
                    put(out, 'G', format!("{flags:#x};0x0").as_bytes())?;
                }
            }
            match f.device_field {
                Device::None => {}
                Device::Number(d) => {
                    if opts.has('D') {
                        put(out, 'D', format!("{d:#x}").as_bytes())?;
                    }
                }
                chars => {
                    if opts.has('d') {
                        put(out, 'd', chars.cell().as_str().as_bytes())?;
                    }
                }
            }
            // Only when asked for by letter: lsof's bare -F leaves `r` out.
            if let Some(rdev) = f.rdev().filter(|_| opts.has('r')) {
                put(out, 'r', format!("{rdev:#x}").as_bytes())?;
            }
            match f.size_off {
                SizeOff::Size(n) if opts.has('s') => put(out, 's', n.to_string().as_bytes())?,
                SizeOff::Offset(_) if opts.has('o') => {
                    put(
                        out,
                        'o',
                        size_off_cell(f.size_off, opts.offset_digits)
                            .as_str()
                            .as_bytes(),
                    )?;
                }
                _ => {}
            }
            if opts.has('i') {
                if let Some(i) = f.inode {
                    put(out, 'i', i.to_string().as_bytes())?;
                }
            }
            if opts.has('k') {
                if let Some(k) = f.nlink {
                    put(out, 'k', k.to_string().as_bytes())?;
                }
            }
            if opts.has('P') {
                if let Some(p) = f.protocol {
                    put(out, 'P', p.as_bytes())?;
                }
            }
            if opts.has('n') && !f.name.is_empty() {
                put(out, 'n', escape_lsof(&f.name, false).as_bytes())?;
            }
            if opts.has('T') {
                for t in f.tcp_info() {
                    put(out, 'T', t.as_bytes())?;
                }
            }
            if opts.nul && wrote {
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

/// `-t`: each pid once, ascending, one per line.
pub fn write_terse(out: &mut impl Write, procs: &[ProcessRows]) -> io::Result<()> {
    let mut pids: Vec<u32> = procs
        .iter()
        .filter(|p| !p.files.is_empty())
        .map(|p| p.pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    for pid in pids {
        writeln!(out, "{pid}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(fd: FdName, name: &str) -> FileRow {
        FileRow {
            fd,
            access: b'u',
            lock: b' ',
            file_type: "IPv4".into(),
            device: Device::Inode(163372),
            device_field: Device::Inode(163372),
            size_off: SizeOff::Offset(0),
            node: Node::Text("TCP".into()),
            inode: None,
            protocol: Some("TCP"),
            nlink: None,
            flags: Some(0x80002),
            name: name.as_bytes().to_vec(),
            name_suffix: " (LISTEN)".into(),
            socket: None,
            extra: Some(Box::new(RowExtra {
                tcp_info: vec!["ST=LISTEN".into()],
                netns: None,
            })),
        }
    }

    fn proc_rows(files: Vec<FileRow>) -> ProcessRows {
        ProcessRows {
            pid: 15912,
            task: None,
            ppid: 1,
            pgid: 15906,
            uid: 0,
            command: b"python3".to_vec(),
            user: "root".into(),
            login: Some("root".into()),
            other_netns: None,
            files,
            netns: None,
        }
    }

    #[test]
    fn foreign_namespace_rows_are_annotated_after_name() {
        let mut f = file(FdName::Num(3), "127.0.0.1:4000");
        f.extra_mut().netns = Some("rnt-x".into());
        let mut p = proc_rows(vec![f]);
        p.other_netns = Some(ProcessNetns {
            inode: 4026532301,
            name: None,
        });
        let mut out = Vec::new();
        let opts = TableOptions::default();
        write_table(&mut out, std::slice::from_ref(&p), &opts).unwrap();
        let text = String::from_utf8(out).unwrap();
        let line = text.lines().nth(1).unwrap();
        assert!(
            line.ends_with("TCP 127.0.0.1:4000 (LISTEN) [netns:rnt-x]"),
            "{line}"
        );
        assert_eq!(line.split_whitespace().nth(1), Some("15912"));
        let mut out = Vec::new();
        let fields = FieldOptions {
            letters: "n".into(),
            nul: false,
            offset_digits: 8,
        };
        write_fields(&mut out, &[p], &fields).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "p15912\nenet:[4026532301]\nn127.0.0.1:4000\n"
        );
    }

    #[test]
    fn table_matches_lsof_layout() {
        let procs = vec![proc_rows(vec![file(FdName::Num(3), "localhost:52363")])];
        let mut out = Vec::new();
        let opts = TableOptions::default();
        write_table(&mut out, &procs, &opts).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n\
             python3 15912 root    3u  IPv4 163372      0t0  TCP localhost:52363 (LISTEN)\n"
        );
    }

    #[test]
    fn padding_as_format_does() {
        for (text, width) in [("ab", 5), ("abcdef", 3), ("é", 3), ("", 2)] {
            let mut line = Vec::new();
            push_right(&mut line, text, width);
            assert_eq!(String::from_utf8(line).unwrap(), format!("{text:>width$}"));
        }
        for (n, width) in [(0u64, 1), (7, 4), (u64::MAX, 3), (1234567, 9)] {
            let mut line = Vec::new();
            push_dec_right(&mut line, n, width);
            assert_eq!(String::from_utf8(line).unwrap(), format!("{n:>width$}"));
        }
    }

    #[test]
    fn command_is_cut_and_escaped() {
        assert_eq!(command_cell(b"averyverylongname", 9), "averyvery");
        assert_eq!(command_cell(b"a b", 7), "a\\x20b ");
        assert_eq!(command_cell(b"abcdef\t", 7), "abcdef ");
        assert_eq!(size_off_text(SizeOff::Offset(123_456_789)), "0x75bcd15");
        assert_eq!(size_off_text(SizeOff::Offset(12_345_678)), "0t12345678");
    }

    #[test]
    fn fields_and_terse() {
        let procs = vec![proc_rows(vec![file(FdName::Num(3), "*:1")])];
        let mut out = Vec::new();
        write_fields(
            &mut out,
            &procs,
            &FieldOptions {
                letters: "pfn".into(),
                nul: false,
                offset_digits: 8,
            },
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "p15912\nf3\nn*:1\n");
        let mut out = Vec::new();
        write_fields(
            &mut out,
            &procs,
            &FieldOptions {
                letters: "pn".into(),
                nul: true,
                offset_digits: 8,
            },
        )
        .unwrap();
        assert_eq!(out, b"p15912\0\nn*:1\0\n");
        let mut out = Vec::new();
        write_terse(&mut out, &[procs[0].clone(), procs[0].clone()]).unwrap();
        assert_eq!(out, b"15912\n");
    }
}
